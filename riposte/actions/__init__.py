"""The actions Riposte can take: one catalogue, and the pure parts of each action.

    catalogue       CATALOGUE: one entry per action (target, parameters, activities, permissions)
    descriptor      the shape of an entry: ActionDescriptor, Target, Need, AzureRole
    payloads        ActionName and what every action activity takes and returns
    permissions     the Graph permissions and Azure roles a set of actions needs
    validation      input checks before any call to the tenant
    rule_selection  which inbox rules are the attacker's
    firewall        which NSGs a block applies to, its rule name and priority

Everything here is pure (no I/O); the side effects are in `activities/`, one module per action.
This package's `__init__` imports nothing, so workflow code pays only for what it uses.
"""
