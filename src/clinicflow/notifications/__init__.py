"""Notifications: booking confirmations, changes, cancellations and reminders, receipts and
refund notices, to patients by email, SMS and Web Push.

Aggregates: `messages/` (planned, claimed before their provider call, sent once; read back
by staff and patients), `channels/` (how a message leaves), `reminders/` (scheduled rows,
sent when due), `push/` (patients' browsers registered for Web Push), `callbacks/` (what the
providers report back: delivery, STOP and START). Other contexts import nothing from here;
`ports.py` is what the messaging adapters implement."""
