"""Pure rules of the integrations: matching a patient in the EHR, and reconciling changes."""
