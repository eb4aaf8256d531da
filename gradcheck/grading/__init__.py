"""Grading untrusted submissions: run them in a sandbox, trust only the data they return."""

from gradcheck.grading.sandbox.runner import (
    Call,
    CallResult,
    SandboxResult,
    SandboxUnavailable,
    namespaces_available,
    run_submission,
)

__all__ = ["Call", "CallResult", "SandboxResult", "SandboxUnavailable", "namespaces_available", "run_submission"]
