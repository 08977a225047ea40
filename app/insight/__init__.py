"""Migration and insight: escalation preview, incident reports, PagerDuty import support."""
