"""Running jobs: the warm fork server, GPU slots, resource sizing, start-up clocks, config paths."""
