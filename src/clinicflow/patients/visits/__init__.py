"""The visit history mirrored from booking, and service enrollments."""
