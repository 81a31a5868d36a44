"""/api/v1/rules: the rules with their health, and an admin's tuning of them.

Reading needs a viewer key; changing (enable, level, exceptions, upload) and backtests
need an admin key not scoped to organizations: rules apply to every organization, and a
backtest shows alerts over every organization's events. Settings are store documents
(canhgac.tuning) that the correlator reloads every 15 s.
"""

import logging
import tempfile
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path as FilePath
from typing import Annotated, Any, cast

from fastapi import APIRouter, Body, Depends, HTTPException, Path, Request, status
from fastapi.exceptions import RequestValidationError
from starlette.concurrency import run_in_threadpool

from canhgac.api._deps import Principal, StoreDep, ViewerDep, require_role
from canhgac.api._rule_schemas import (
    BacktestPublic,
    BacktestRequest,
    LucenePublic,
    RuleExceptionCreate,
    RuleExceptionPublic,
    RulePatch,
    RulePublic,
    RulesPublic,
    RuleUploadedPublic,
    exception_public,
    rule_public,
    skipped_public,
)
from canhgac.api._schemas import AlertPublic, AuditEntryPublic, alert_public
from canhgac.api.routes._responses import AUTH_RESPONSES, error_response
from canhgac.config import Settings
from canhgac.correlator import Alert, RuleSet, load_rules
from canhgac.scheduled import (
    LuceneQuery,
    LuceneRuleConverter,
    ScheduledDetection,
    StoredEventWindow,
    select_rules,
)
from canhgac.storage import ElasticsearchStore, Role, Store
from canhgac.tuning import (
    RuleAdministration,
    RuleException,
    RuleNotFoundError,
    RuleSettings,
    RuleTuning,
    TuningError,
    UploadRejectedError,
    settings_fingerprint,
)

log = logging.getLogger(__name__)

RuleId = Annotated[str, Path(description="The rule's Sigma id.")]
YAML_MEDIA_TYPES = ("application/yaml", "text/plain")
MAX_RULE_BYTES = 200_000

_error = error_response
_FORBIDDEN: dict[int | str, dict[str, Any]] = {
    status.HTTP_403_FORBIDDEN: _error(
        "The key is not an admin key, or is scoped to organizations (rules apply to all)."
    ),
}
_NOT_FOUND: dict[int | str, dict[str, Any]] = {
    status.HTTP_404_NOT_FOUND: _error("No loaded rule has this id."),
}
_INVALID: dict[int | str, dict[str, Any]] = {
    status.HTTP_422_UNPROCESSABLE_CONTENT: _error(
        "The request cannot be used; the detail says why."
    )
}


def _admin_principal(
    principal: Annotated[Principal, Depends(require_role(Role.ADMIN))],
) -> Principal:
    if principal.organizations:
        raise HTTPException(
            status.HTTP_403_FORBIDDEN,
            detail=(
                f"the key {principal.name!r} is scoped to organizations; rules apply to every "
                "organization, so only an unscoped admin key may change or backtest them"
            ),
        )
    return principal


AdminDep = Annotated[Principal, Depends(_admin_principal)]


def get_rule_administration(request: Request) -> RuleAdministration:
    """The app's rule administration (made on first use; it keeps the loaded rules)."""
    state = request.app.state
    admin = getattr(state, "rule_administration", None)
    if admin is None:
        admin = state.rule_administration = RuleAdministration(state.store, state.settings)
    return cast(RuleAdministration, admin)


def get_settings(request: Request) -> Settings:
    return cast(Settings, request.app.state.settings)


RuleAdminDep = Annotated[RuleAdministration, Depends(get_rule_administration)]
SettingsDep = Annotated[Settings, Depends(get_settings)]


def _now() -> datetime:
    return datetime.now(UTC)


def _not_found(exc: TuningError) -> HTTPException:
    return HTTPException(status.HTTP_404_NOT_FOUND, detail=str(exc))


def _body_invalid(field: str, reason: str) -> RequestValidationError:
    """A body field refused past pydantic's checks, answered as pydantic's 422 is."""
    return RequestValidationError(
        [{"loc": ("body", field), "msg": reason, "type": "value_error", "input": None}]
    )


def _invalid(detail: str) -> HTTPException:
    return HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, detail=detail)


# -- reading ---------------------------------------------------------------------------


def list_rules(admin: RuleAdminDep, settings: SettingsDep, _: ViewerDep) -> RulesPublic:
    """Every loaded rule with its settings and health, and every skipped rule with why."""
    view = admin.health()
    tuned = admin.rule_settings()
    now = _now()
    scheduled = settings.rules.scheduled
    items = [
        rule_public(line, tuned.of(str(line["rule_id"])), scheduled, now)
        for line in view.rules
        if line.get("kind") != "skipped" and line.get("rule_id")
    ]
    skipped = [skipped_public(line) for line in view.rules if line.get("kind") == "skipped"]
    in_force = view.live and view.settings_fingerprint == settings_fingerprint(tuned)
    return RulesPublic(items=items, skipped=skipped, live=view.live, settings_in_force=in_force)


def rule_history(rule_id: RuleId, admin: RuleAdminDep, _: ViewerDep) -> list[AuditEntryPublic]:
    """The rule's audit trail, oldest first: who changed what, when."""
    history = admin.history(rule_id)
    if not history:
        try:
            admin.known_rule(rule_id)
        except RuleNotFoundError as exc:
            raise _not_found(exc) from exc
    return [
        AuditEntryPublic(
            at=entry.at,
            actor=entry.actor,
            action=entry.action,
            field=entry.field,
            old_value=entry.old_value,
            new_value=entry.new_value,
            reason=entry.reason,
        )
        for entry in history
    ]


def _rule_path(ruleset: RuleSet, rule_id: str) -> tuple[str | None, bool]:
    """The file the rule was loaded from in this process, and whether it is a correlation."""
    for rule in ruleset.rules:
        if rule.info.rule_id == rule_id:
            return rule.info.path, False
    for correlation in ruleset.correlations:
        if correlation.info.rule_id == rule_id:
            return correlation.info.path, True
    return None, False


def rule_lucene(
    rule_id: RuleId, admin: RuleAdminDep, settings: SettingsDep, _: ViewerDep
) -> LucenePublic:
    """The rule as an Elasticsearch Lucene query (pySigma's backend, canhgac's pipeline)."""
    path, correlation = _rule_path(admin.ruleset(), rule_id)
    if path is None:
        try:
            admin.known_rule(rule_id)
        except RuleNotFoundError as exc:
            raise _not_found(exc) from exc
        return LucenePublic(query=None, reason="the rule is not loaded in this API process yet")
    if correlation:
        return LucenePublic(query=None, reason="a correlation rule: evaluated in-process")
    query = _lucene_of(settings, FilePath(path), rule_id)
    if query is None:
        return LucenePublic(query=None, reason="pySigma gave no query for this rule")
    return LucenePublic(query=query.query, reason=query.fallback)


def _lucene_of(settings: Settings, path: FilePath, rule_id: str) -> LuceneQuery | None:
    converter = LuceneRuleConverter(
        placeholders=settings.rules.placeholders, searchable=ElasticsearchStore.searchable_field
    )
    return next((q for q in converter.convert_paths([path]) if q.rule_id == rule_id), None)


# -- changing --------------------------------------------------------------------------


def _rule_answer(admin: RuleAdministration, settings: Settings, rule_id: str) -> RulePublic:
    line = admin.known_rule(rule_id)
    tuned = admin.rule_settings().of(rule_id)
    return rule_public(line, tuned, settings.rules.scheduled, _now())


def update_rule(
    rule_id: RuleId,
    patch: Annotated[RulePatch, Body()],
    admin: RuleAdminDep,
    settings: SettingsDep,
    principal: AdminDep,
) -> RulePublic:
    """Enable or disable a rule, or override its level (`level: null` removes the
    override); audited. The correlator applies it within 15 s."""
    try:
        admin.update(
            rule_id,
            principal.name,
            enabled=patch.enabled,
            level=patch.level,
            clear_level="level" in patch.model_fields_set and patch.level is None,
        )
        return _rule_answer(admin, settings, rule_id)
    except RuleNotFoundError as exc:
        raise _not_found(exc) from exc


def add_exception(
    rule_id: RuleId,
    body: Annotated[RuleExceptionCreate, Body()],
    admin: RuleAdminDep,
    principal: AdminDep,
) -> RuleExceptionPublic:
    """Add an exception: the rule's alerts on matching events are suppressed; audited."""
    try:
        exception = admin.add_exception(
            rule_id,
            principal.name,
            field=body.field,
            value=body.value,
            match=body.match,
            reason=body.reason,
            until=body.until,
        )
    except RuleNotFoundError as exc:
        raise _not_found(exc) from exc
    except TuningError as exc:
        raise _body_invalid("value", str(exc)) from exc
    return exception_public(exception, _now())


def remove_exception(
    rule_id: RuleId,
    exception_id: Annotated[str, Path(description="The exception's id.")],
    admin: RuleAdminDep,
    settings: SettingsDep,
    principal: AdminDep,
) -> RulePublic:
    """Remove an exception; audited. Answers the rule as it is now."""
    try:
        admin.remove_exception(rule_id, exception_id, principal.name)
        return _rule_answer(admin, settings, rule_id)
    except RuleNotFoundError as exc:
        raise _not_found(exc) from exc


async def upload_rule(
    request: Request, admin: RuleAdminDep, principal: AdminDep
) -> RuleUploadedPublic:
    """Upload a Sigma rule file (the YAML as the body; a correlation may come with the
    rules it references). It is validated with the engine's loader (pySigma): refused
    with 422 and the precise reason, or kept and loaded by the correlator within 15 s.
    Uploading a rule whose id an uploaded rule has replaces that one."""
    body = await request.body()
    if len(body) > MAX_RULE_BYTES:
        raise HTTPException(
            status.HTTP_413_CONTENT_TOO_LARGE,
            detail=f"a rule file may have at most {MAX_RULE_BYTES} bytes",
        )
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _invalid("the rule file must be UTF-8 text") from exc
    try:
        # The loader reads and compiles every rule: keep the event loop free meanwhile.
        uploaded = await run_in_threadpool(admin.upload, text, principal.name)
    except UploadRejectedError as exc:
        raise _invalid(str(exc)) from exc
    return RuleUploadedPublic(
        rule_ids=list(uploaded.rule_ids), added_by=uploaded.added_by, added_at=uploaded.added_at
    )


# -- backtest --------------------------------------------------------------------------


def _alerts_of(
    store: Store,
    settings: Settings,
    ruleset: RuleSet,
    paths: Sequence[str],
    window: StoredEventWindow,
) -> list[Alert]:
    """What `ruleset` raises over the stored events of `window`, as scheduled detection
    runs it (Lucene queries on Elasticsearch where they can)."""
    queries: list[LuceneQuery] = []
    if isinstance(store, ElasticsearchStore) and ruleset.rules:
        converter = LuceneRuleConverter(
            placeholders=settings.rules.placeholders,
            searchable=ElasticsearchStore.searchable_field,
        )
        queries = converter.convert_paths([FilePath(p) for p in paths])
    return list(ScheduledDetection(store, ruleset, queries).alerts_between(window).alerts)


def _tuned(store: Store, tuning: RuleTuning, alerts: list[Alert], now: datetime) -> list[Alert]:
    needed = tuning.evidence_needed(alerts, now)
    events = {event.id: event for event in store.get_events(sorted(needed))} if needed else {}
    return list(tuning.apply(alerts, events, now).alerts)


def _draft_alerts(
    store: Store, settings: Settings, text: str, window: StoredEventWindow
) -> list[Alert]:
    """What the draft, loaded alone by the engine's loader, raises over the window."""
    with tempfile.TemporaryDirectory(prefix="canhgac-rule-draft-") as folder:
        path = FilePath(folder) / "draft.yml"
        path.write_text(text, encoding="utf-8")
        ruleset = load_rules([path], bundled=False, placeholders=settings.rules.placeholders)
        if ruleset.errors:
            raise _body_invalid(
                "draft_yaml", "; ".join(str(error.reason) for error in ruleset.errors)
            )
        if not ruleset.rules and not ruleset.correlations:
            raise _body_invalid("draft_yaml", "the draft holds no Sigma rule")
        return _alerts_of(store, settings, ruleset, [str(path)], window)


def backtest_rule(
    rule_id: RuleId,
    body: Annotated[BacktestRequest, Body()],
    admin: RuleAdminDep,
    store: StoreDep,
    settings: SettingsDep,
    _: AdminDep,
) -> BacktestPublic:
    """The alerts the rule raises over the stored events of [since, until), with its
    current exceptions and level (as if enabled). With `draft_yaml` and/or
    `extra_exception`: the alerts the draft (with the extra exception) raises, and the
    ones gained and lost against the current version."""
    window = StoredEventWindow(body.since, body.until)
    ruleset = admin.ruleset()
    current, missing = select_rules(ruleset, [rule_id])
    path, _correlation = _rule_path(ruleset, rule_id)
    if missing or path is None:
        raise HTTPException(
            status.HTTP_404_NOT_FOUND,
            detail=f"there is no loaded rule {rule_id!r}; list the rules for ids",
        )
    now = _now()
    setting = replace(admin.rule_settings().of(rule_id), enabled=True)
    tuning = RuleTuning(RuleSettings({rule_id: setting}))
    before = [
        a for a in _alerts_of(store, settings, current, [path], window) if a.rule_id == rule_id
    ]
    before = _tuned(store, tuning, before, now)
    if body.draft_yaml is None and body.extra_exception is None:
        return BacktestPublic(alerts=[alert_public(a) for a in before], gained=[], lost=[])
    after = before
    if body.draft_yaml is not None:
        raw = _draft_alerts(store, settings, body.draft_yaml, window)
        drafted = RuleTuning(RuleSettings({a.rule_id: setting for a in raw} | {rule_id: setting}))
        after = _tuned(store, drafted, raw, now)
    if body.extra_exception is not None:
        extra = body.extra_exception
        try:
            exception = RuleException(
                id="backtest",
                field=extra.field,
                value=extra.value,
                match=extra.match,
                reason=extra.reason,
                added_by="backtest",
                added_at=now,
                until=extra.until,
            )
        except TuningError as exc:
            raise _body_invalid("extra_exception", str(exc)) from exc
        trial = replace(setting, exceptions=(*setting.exceptions, exception))
        trial_tuning = RuleTuning(RuleSettings({a.rule_id: trial for a in after}))
        after = _tuned(store, trial_tuning, after, now)
    return BacktestPublic(
        alerts=[alert_public(a) for a in after],
        gained=_difference(after, before),
        lost=_difference(before, after),
    )


def _difference(alerts: Sequence[Alert], other: Sequence[Alert]) -> list[AlertPublic]:
    """The alerts of `alerts` on evidence no alert of `other` rests on."""
    seen = {alert.event_ids for alert in other}
    return [alert_public(a) for a in alerts if a.event_ids not in seen]


def rules_router() -> APIRouter:
    """The /api/v1/rules routes, each declaring the role it needs."""
    router = APIRouter(prefix="/api/v1/rules", tags=["rules"], responses=AUTH_RESPONSES)
    router.add_api_route(
        "",
        list_rules,
        methods=["GET"],
        summary="List the rules with their settings and health, and the skipped ones",
        response_model=RulesPublic,
    )
    router.add_api_route(
        "",
        upload_rule,
        methods=["POST"],
        summary="Upload a Sigma rule (admin role)",
        response_model=RuleUploadedPublic,
        responses=_FORBIDDEN
        | _INVALID
        | {status.HTTP_413_CONTENT_TOO_LARGE: _error("The rule file is too large.")},
        openapi_extra={
            "requestBody": {
                "required": True,
                "description": "A Sigma rule file (YAML).",
                "content": {
                    media: {"schema": {"type": "string", "maxLength": MAX_RULE_BYTES}}
                    for media in YAML_MEDIA_TYPES
                },
            }
        },
    )
    router.add_api_route(
        "/{rule_id}",
        update_rule,
        methods=["PATCH"],
        summary="Enable or disable a rule, or override its level (admin role)",
        response_model=RulePublic,
        responses=_NOT_FOUND | _FORBIDDEN,
    )
    router.add_api_route(
        "/{rule_id}/exceptions",
        add_exception,
        methods=["POST"],
        summary="Add an exception to a rule (admin role)",
        response_model=RuleExceptionPublic,
        responses=_NOT_FOUND | _FORBIDDEN,
    )
    router.add_api_route(
        "/{rule_id}/exceptions/{exception_id}",
        remove_exception,
        methods=["DELETE"],
        summary="Remove a rule's exception (admin role)",
        response_model=RulePublic,
        responses=_NOT_FOUND | _FORBIDDEN,
    )
    router.add_api_route(
        "/{rule_id}/backtest",
        backtest_rule,
        methods=["POST"],
        summary="Backtest a rule, a draft of it, or an extra exception over stored events",
        response_model=BacktestPublic,
        responses=_NOT_FOUND | _FORBIDDEN,
    )
    router.add_api_route(
        "/{rule_id}/lucene",
        rule_lucene,
        methods=["GET"],
        summary="The rule as an Elasticsearch Lucene query",
        response_model=LucenePublic,
        responses=_NOT_FOUND,
    )
    router.add_api_route(
        "/{rule_id}/history",
        rule_history,
        methods=["GET"],
        summary="Read a rule's audit trail",
        response_model=list[AuditEntryPublic],
        responses=_NOT_FOUND,
    )
    return router
