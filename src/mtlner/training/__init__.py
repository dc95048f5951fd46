"""Training and scoring one job: its settings, the model, inference, metrics, the training loop."""
