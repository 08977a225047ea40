"""Import an on-call set-up from another tool (PagerDuty) into PageFree, idempotently."""
