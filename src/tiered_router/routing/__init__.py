"""The routing core: the router (front), the engine (cascade), spend, breakers, results and the recorder."""

from .engine import Buffered, Call, Choice, Engine, EngineSettings, Live
from .recorder import Outcome, Recorder, SinkRecorder
from .results import Attempt, AttemptOutcome, RecordStatus, RoutedResponse
from .routed_stream import RoutedStream
from .router import TieredModelRouter

__all__ = [
    "Attempt", "AttemptOutcome", "Buffered", "Call", "Choice", "Engine", "EngineSettings", "Live", "Outcome",
    "RecordStatus", "Recorder", "RoutedResponse", "RoutedStream", "SinkRecorder", "TieredModelRouter",
]
