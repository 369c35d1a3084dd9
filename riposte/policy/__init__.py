"""Response policies: the YAML language, its loader and checker, and the pure engine.

    models      the policy as frozen models (match, actions, exclude, ...)
    loader      files into models, every error as FILE:LINE: message
    check       `policy check`: the loader plus each policy's own examples
    snapshot    the immutable PolicySnapshot a response evaluates
    engine      evaluate(alert, snapshot, response_id) -> ResponsePlan; pure, no I/O

Workflow code imports `riposte.policy.engine` inside `workflow.unsafe.imports_passed_through()`:
its imports (pydantic-settings through riposte.settings, the RE2 extension) must not be
re-imported in the sandbox. This package's `__init__` imports nothing, so that stays cheap.
"""
