"""The audit trail: who did what to which patient's data, when, from where, with what outcome."""
