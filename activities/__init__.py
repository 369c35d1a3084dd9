"""Every side effect Riposte has, as Temporal activities on classes that get their clients.

One module per action (its activity and its revert), each bound to its catalogue entry's
activity references (`riposte.actions.catalogue`):

    sign_in.py      disable_sign_in, enable_sign_in            (msgraph)
    sessions.py     revoke_sessions                            (msgraph)
    inbox_rules.py  delete_inbox_rules, restore_inbox_rules    (msgraph)
    mail.py         quarantine_mail, release_mail              (msgraph)
    network.py      block_ports, block_outbound, unblock       (azure-mgmt-network)

What they share:

    tenant.py       TenantActivities: every action's activities on one set of clients
    clients.py      the SDK clients and credential, from TenantSettings
    errors.py       SDK errors translated once into typed failures (riposte.failures)
    mailbox.py      one user's mailbox through msgraph, as plain values
    progress.py     the state an attempt saw, kept in its heartbeat for a retry
    outcome.py      the ActionResult every activity returns
    testing.py      test helpers: inputs for one action, running an activity once

and the engine's bookkeeping: audit.py (the audit store), policy.py (policy snapshots).

Importing this package imports none of them, so a worker or test pulls in only the SDKs it uses.
"""
