"""`policy backtest`: replay past alerts through a policy set, with no side effects.

sources     alerts from files (streamed, any adapter's format) or the audit store
replay      Backtest: each alert decided by the compiled policies, tallied
compare     how an alert's outcome differs between two sets (--against)
budgets     the hours the engine-wide budgets would have tripped in
report      the BacktestReport (JSON as DESIGN.md) and its parts
run         one call from paths or a store to a report, shared by the CLI, API and console
"""
