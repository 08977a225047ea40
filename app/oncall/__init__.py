"""Who is on call and whom an escalation level reaches: used by escalation and schedules."""
