"""When each training of a run may start: one policy for the run and its estimate.

A :class:`Scheduler` holds the trainings a run has left, in plan order, each
member of an ensemble training before the training that assembles them, and
releases those whose dependencies are met: an ensemble training once its
members are in, the searched models' trainings once the search is
(:attr:`~._steps.StudyStep.after`). The run submits what it releases to its
workers (:meth:`~._reproduction.Reproduction.run`); the estimate replays the
same scheduler with each training's estimated seconds on simulated workers
(:func:`replay`), so it counts the workers that wait for the search or sit
idle at the end as the run will.
"""

import collections
import heapq


class Scheduler:
    """Releases the trainings of ``todo`` whose dependencies are met.

    Parameters
    ----------
    planned : dict
        {step name: its :class:`~._steps.Training` list}, the whole plan.
    todo : list of Training
        The trainings left to run, in the order to run them: each missing
        member of an ensemble training before that training.
    """

    def __init__(self, planned, todo):
        self._order = {training: index for index, training in enumerate(todo)}
        self._blocking = {}  # how many unfinished trainings each waits for
        self._dependents = collections.defaultdict(list)
        for training in todo:
            after = [*training.member_trainings,
                     *(other for name in training.of.after for other in planned[name])]
            blocking = [other for other in after if other in self._order]
            self._blocking[training] = len(blocking)
            for other in blocking:
                self._dependents[other].append(training)
        self._released = False

    def release(self):
        """The trainings ready at the start, in plan order (once)."""
        if self._released:
            return []
        self._released = True
        return [training for training, n in self._blocking.items() if n == 0]

    def finished(self, training):
        """Count ``training`` as finished; return the trainings it was the
        last to block, in plan order."""
        ready = []
        for dependent in self._dependents.pop(training, ()):
            self._blocking[dependent] -= 1
            if self._blocking[dependent] == 0:
                ready.append(dependent)
        return sorted(ready, key=self._order.get)


def replay(scheduler, pieces, n_workers):
    """Seconds until ``n_workers`` have run every training of ``scheduler``
    as a run does: first come, first served, each task on the first worker
    free. ``pieces(training)`` is the seconds of each of its tasks (one, or
    one per trial of a search spread on Dask); a training is finished when
    all its tasks are.
    """
    queue = collections.deque()
    left = {}  # tasks of each training still to end

    def enqueue(trainings):
        for training in trainings:
            seconds = pieces(training)
            left[training] = len(seconds)
            queue.extend((training, s) for s in seconds)

    enqueue(scheduler.release())
    running = []  # (when it ends, tie-break, training), a heap
    now, count = 0.0, 0
    while queue or running:
        while queue and len(running) < n_workers:
            training, seconds = queue.popleft()
            heapq.heappush(running, (now + seconds, count, training))
            count += 1
        now, _, training = heapq.heappop(running)
        left[training] -= 1
        if left[training] == 0:
            enqueue(scheduler.finished(training))
    return float(now)
