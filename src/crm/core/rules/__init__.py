"""Rules as versioned data (crm.core.rules.service)."""
