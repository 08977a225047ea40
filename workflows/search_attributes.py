"""The custom search attributes that make incidents findable in the Temporal Web UI."""

from temporalio.common import SearchAttributeKey

INCIDENT_NUMBER = SearchAttributeKey.for_int("IncidentNumber")
INCIDENT_STATUS = SearchAttributeKey.for_keyword("IncidentStatus")
SERVICE_NAME = SearchAttributeKey.for_keyword("ServiceName")
SEVERITY = SearchAttributeKey.for_keyword("Severity")
ESCALATION_LEVEL = SearchAttributeKey.for_int("EscalationLevel")

ALL = [INCIDENT_NUMBER, INCIDENT_STATUS, SERVICE_NAME, SEVERITY, ESCALATION_LEVEL]
