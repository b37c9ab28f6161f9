"""A clock a test moves by hand: what a rate limiter reads and sleeps on."""


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now

    async def sleep(self, s):
        """Waiting moves the clock on at once."""
        self.now += s
