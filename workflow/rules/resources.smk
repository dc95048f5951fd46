# Resources of training jobs, for cluster executors and --resources limits.
# Kept apart from the rules so cluster policy can change without touching them.


def train_gpus(wildcards):
    return int(config["resources"].get("gpus_per_job", 0))


def train_mem_mb(wildcards, attempt):
    return int(config["resources"].get("mem_mb", 8000)) * attempt


def train_runtime(wildcards, attempt):
    """Minutes."""
    return int(config["resources"].get("runtime", 240)) * attempt
