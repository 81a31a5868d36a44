"""The scheduled package's exception root."""


class ScheduledError(Exception):
    """Scheduled detection cannot run as asked; the message says what to change."""
