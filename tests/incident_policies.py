"""Policies the incident tests share: a human-confirm takeover and a campaign that escalates it."""

TAKEOVER = """
name: m365-account-takeover
match:
  source: darktrace
  name: ["SaaS / Compromise / *"]
  entities: [user]
mode: human-confirm
actions: [disable_sign_in]
duration: 24h
"""

CAMPAIGN = """
name: m365-campaign
scope: incident
match:
  source: darktrace
  incident: {accounts: ">= 2", within: 72h}
mode: autonomous
actions:
  - block_sign_in_from: {prefix: 32}
escalate: {mode: autonomous, policies: [m365-account-takeover]}
"""
