"""The admin API under /api/v1: JSON over the same operations as the console."""
