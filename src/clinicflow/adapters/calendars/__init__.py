"""Calendar adapters behind integrations.ports.CalendarSync (Calendly first, Office 365 as
backup, in a later issue); `noop` until one is configured."""
