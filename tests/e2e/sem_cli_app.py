"""A job type for the semaphore CLI tests."""

from jobyard import Yard

yard = Yard()


@yard.job
def noop(job: object) -> None:
    return None
