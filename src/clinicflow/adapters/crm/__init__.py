"""CRM adapters behind integrations.ports.CrmContacts: HubSpot's CRM v3 objects API."""
