"""`CollectorsComponent`: the configured sources, feeding the local pipeline or, in a
collectors-only process, the correlator's ingest API through an `IngestForwarder`."""

from collections.abc import Callable, Sequence

from canhgac.collectors import Collector, IngestForwarder, build_collector
from canhgac.config import ConfigError, Settings, SourceConfig
from canhgac.pipeline import CollectedBatch
from canhgac.storage import Checkpoint


class CollectorsComponent:
    def __init__(
        self,
        settings: Settings,
        sources: Sequence[SourceConfig],
        *,
        submit: Callable[[CollectedBatch], None],
        load_checkpoint: Callable[[str], Checkpoint | None],
    ) -> None:
        self.collectors: list[Collector] = [
            build_collector(
                source,
                load_checkpoint=load_checkpoint,
                submit=submit,
                timezone=settings.zone,
                batch_lines=settings.pipeline.batch_size,
                data_dir=settings.data_dir,
            )
            for source in sources
        ]

    def start(self) -> None:
        for collector in self.collectors:
            collector.start()

    def close(self) -> None:
        for collector in self.collectors:
            collector.close()


def build_forwarder(settings: Settings) -> IngestForwarder:
    """The forwarder to the correlator named in `forwarding` (url and an ingest key)."""
    forwarding = settings.forwarding
    if not forwarding.url or not forwarding.api_key:
        raise ConfigError(
            "the collectors component forwards to the correlator: set forwarding.url (e.g. "
            "http://correlator:8081) and forwarding.api_key (a key from `canhgac apikey "
            "create --role ingest`), or CANHGAC_FORWARDING__URL and CANHGAC_FORWARDING__API_KEY"
        )
    return IngestForwarder(
        forwarding.url,
        forwarding.api_key,
        settings.data_dir / "forwarding-spool",
        max_body_bytes=forwarding.max_body_bytes,
        spool_max_bytes=forwarding.spool_max_bytes,
        timeout=forwarding.timeout_seconds,
        ca_file=forwarding.ca_file,
    )
