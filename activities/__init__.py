"""Every side effect Riposte has, as Temporal activities on classes that get their clients.

    graph.py     GraphActivities: sign-in, sessions, inbox rules, mail quarantine (msgraph)
    network.py   NetworkActivities: NSG deny rules (azure-mgmt-network)
    tenant.py    build_activities / tenant_activities: both, on one set of clients, for the worker
    audit.py     AuditActivities: the audit store
    policy.py    PolicyActivities: policy snapshots

Importing this package imports none of them, so a worker or test pulls in only the SDKs it uses.
"""
