"""What refers to a user, team, schedule or escalation policy, checked before deleting one."""
