"""Secrets: values a workflow needs that must never reach a run log, the store, a page or a log.

One concept per module: ``names`` (what a secret may be called),
``store`` (the secrets file), ``sources`` (environment, then file),
``masking`` (``***`` for every known value), ``logs`` (the logging filter),
``environment`` (what a kernel inherits), ``sealing`` (secrets in journal
files). The kernel side is ``jetnb.runtime.secrets``; the run service's
collection of a run's values is ``jetnb.service.run_secrets``.
"""
