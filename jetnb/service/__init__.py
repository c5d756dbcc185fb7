"""The run service: the one way runs are submitted, executed, decided, resumed, cancelled and failed."""
