"""How other contexts find and reach a patient, and consent texted from a phone."""
