"""The workflow model: a notebook read without running it (config, headers, parameters), checked and drawn."""
