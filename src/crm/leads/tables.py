"""Leads and their routing: intake sources, the lead and its timeline, calls, rule sets (scoring and routing,
as versioned data), pools of agents with weights and capacity, shifts and presence, and every routing
decision."""

from enum import StrEnum

from piccolo.columns import (
    JSONB,
    Array,
    BigSerial,
    Boolean,
    Date,
    ForeignKey,
    Integer,
    Real,
    Text,
    Timestamptz,
    Varchar,
)
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from crm.core.labels import LABELS


class LeadStatus(StrEnum):
    NEW = "new"
    CONTACTED = "contacted"
    INTERESTED = "interested"
    REGISTERED = "registered"
    KYC = "kyc"
    FUNDED = "funded"
    LOST = "lost"


PIPELINE = (
    LeadStatus.NEW,
    LeadStatus.CONTACTED,
    LeadStatus.INTERESTED,
    LeadStatus.REGISTERED,
    LeadStatus.KYC,
    LeadStatus.FUNDED,
)
OPEN_LEAD_STATUSES = ("new", "contacted", "interested", "registered", "kyc")
LOST_REASONS = (
    "not_interested",
    "unreachable",
    "wrong_number",
    "duplicate",
    "fraud_suspected",
    "underage",
    "restricted_country",
    "other",
)


class IntakeSource(Table, tablename="lead_source"):
    """A system allowed to send leads: a REST API key (stored hashed) or a signed webhook (shared secret)."""

    name = Varchar(length=80, unique=True)
    kind = Varchar(length=20)  # api, webhook, telephony, email
    entity_id = Integer(
        null=True, default=None
    )  # leads with no entity rule land here; None = by country rules
    source_label = Varchar(length=60, default="")  # the lead's `source` when the payload gives none
    api_key_hash = Varchar(length=64, null=True, default=None, unique=True)
    key_prefix = Varchar(length=12, default="")
    secret = Varchar(length=128, default="")  # HMAC key for webhooks (needed in clear to verify)
    # After a rotation the previous secret stays valid until `previous_secret_until`, so senders can switch
    # over.
    previous_secret = Varchar(length=128, default="")
    previous_secret_until = Timestamptz(null=True, default=None)
    # How webhooks of this source are signed (crm.core.inbox.signatures): "timestamped" (X-Crm-Signature,
    # replay window) or "body" (X-Hub-Signature-256, for senders that cannot send a timestamp: deduplicated by
    # event id).
    signature_scheme = Varchar(length=20, default="timestamped")
    active = Boolean(default=True)
    created_by_id = Integer(null=True, default=None)
    created_at = Timestamptz(default=TimestamptzNow())


class Lead(Table, tablename="lead"):
    reference = Varchar(length=20, null=True, default=None, unique=True)  # LD-000123
    entity_id = Integer(index=True)
    brand = Varchar(length=40, default="")
    first_name = Varchar(length=100, default="")
    last_name = Varchar(length=100, default="")
    email = Varchar(length=254, default="")
    email_key = Varchar(length=254, default="", index=True)  # lower-cased, for duplicates
    phone = Varchar(length=20, default="", index=True)  # E.164
    country = Varchar(length=2, default="")
    language = Varchar(length=8, default="")
    date_of_birth = Date(null=True, default=None)
    source = Varchar(length=60, default="")
    campaign = Varchar(length=120, default="")
    utm = JSONB(default="{}")
    ib_code = Varchar(length=40, default="")
    device_id = Varchar(length=128, default="", index=True)
    ip = Varchar(length=45, default="")
    channel = Varchar(length=20)  # form, api, webhook, csv, manual
    source_id = Integer(null=True, default=None)
    external_id = Varchar(length=120, null=True, default=None)  # the sender's id: intake is idempotent on it
    status = Varchar(length=20, choices=LeadStatus, default=LeadStatus.NEW, index=True)
    lost_reason = Varchar(length=40, default="")
    score = Integer(default=0)
    score_detail = JSONB(default="[]")
    signals = JSONB(default="{}")  # kyc_started, demo_sessions ... reported later; scoring reads them
    vip = Boolean(default=False)
    owner_id = Integer(null=True, default=None, index=True)
    pool_id = Integer(null=True, default=None, index=True)
    case_id = Integer(null=True, default=None)  # the open follow-up task
    routed_at = Timestamptz(null=True, default=None)
    first_contact_at = Timestamptz(null=True, default=None)
    import_id = Integer(null=True, default=None, index=True)
    merged_into_id = Integer(null=True, default=None)
    created_at = Timestamptz(default=TimestamptzNow(), index=True)
    updated_at = Timestamptz(default=TimestamptzNow())


class LeadActivity(Table, tablename="lead_activity"):
    """The lead's timeline: intake, routing, status, notes, calls, emails, tasks, merges, score changes."""

    id = BigSerial(primary_key=True)
    lead = ForeignKey(Lead, index=True)
    kind = Varchar(length=20)
    author_id = Integer(null=True, default=None)
    author_label = Varchar(length=200)
    body = Text(default="")
    data = JSONB(default="{}")
    created_at = Timestamptz(default=TimestamptzNow())


class CallRecord(Table, tablename="call_record"):
    """A call with a lead, posted by a telephony provider (idempotent on its call id) or logged by hand."""

    lead = ForeignKey(Lead, index=True)
    agent_id = Integer(null=True, default=None, index=True)
    provider = Varchar(length=40)  # "manual" for hand-logged calls
    external_id = Varchar(length=120, null=True, default=None)
    direction = Varchar(length=10, default="outbound")
    started_at = Timestamptz()
    duration_s = Integer(default=0)
    outcome = Varchar(length=30)  # answered, no_answer, busy, voicemail, failed, disconnected
    disposition = Varchar(length=60, default="")
    recording_ref = Varchar(length=300, default="")
    created_at = Timestamptz(default=TimestamptzNow())


class LeadEmail(Table, tablename="lead_email"):
    """An e-mail to a lead (written by an agent, sent by the `leads.send_email` job) or from one (received by
    the inbound mail webhook). Outbound: queued → sent, or failed after the job's last try."""

    lead = ForeignKey(Lead, index=True)
    direction = Varchar(length=3)  # out, in
    subject = Varchar(length=200)
    body = Text()
    status = Varchar(length=10)  # queued, sent, failed, received
    message_id = Varchar(length=250, index=True)
    author_id = Integer(null=True, default=None)
    author_label = Varchar(length=200, default="")
    attempts = Integer(default=0)
    error = Text(default="")
    created_at = Timestamptz(default=TimestamptzNow())
    sent_at = Timestamptz(null=True, default=None)


class RuleSet(Table, tablename="lead_rule_set"):
    """One version of the scoring or routing rules of an entity: draft → pending approval → published →
    retired."""

    kind = Varchar(length=20)  # scoring, routing
    entity_id = Integer(index=True)
    version = Integer()
    status = Varchar(length=20, default="draft")
    rules = JSONB(default="[]")
    note = Text(default="")
    created_by_id = Integer(null=True, default=None)
    created_at = Timestamptz(default=TimestamptzNow())
    published_at = Timestamptz(null=True, default=None)
    approval_request_id = Integer(null=True, default=None)


class Pool(Table, tablename="lead_pool"):
    """A routing pool: agents with weights and caps; the team gives the queue, team lead and chat webhook."""

    entity_id = Integer(index=True)
    name = Varchar(length=80)
    team_id = Integer(null=True, default=None)
    fallback_pool_id = Integer(null=True, default=None)
    sla_seconds = Integer(default=300)
    active = Boolean(default=True)
    weighting = Varchar(length=20, default="manual")  # manual, performance, workload (rules.SHARING)


class PoolMember(Table, tablename="lead_pool_member"):
    pool = ForeignKey(Pool, index=True)
    agent_id = Integer(index=True)
    weight = Integer(default=1)
    max_open_leads = Integer(default=50)
    assigned_count = Integer(default=0)  # leads given by this pool: the weighted round-robin's credit
    last_assigned_at = Timestamptz(null=True, default=None)
    active = Boolean(default=True)
    # recent conversion against the pool's average (0.25-2; 1 until there is data), refreshed hourly by
    # performance.refresh_performance; multiplies the weight in pools shared by performance
    performance = Real(default=1.0)


class AgentSchedule(Table, tablename="agent_schedule"):
    """When an agent works: a time zone and weekly hours, e.g. {"mon": [["09:00", "17:00"]], ...}; a span may
    cross midnight (["22:00", "06:00"])."""

    agent_id = Integer(unique=True)
    timezone = Varchar(length=60, default="UTC")
    hours = JSONB(default="{}")


class AgentDayOff(Table, tablename="agent_day_off"):
    agent_id = Integer(index=True)
    day = Date()  # in the agent's time zone
    note = Varchar(length=120, default="")


class AgentPresence(Table, tablename="agent_presence"):
    agent_id = Integer(unique=True)
    status = Varchar(length=20, default="offline")  # available, away, offline
    updated_at = Timestamptz(default=TimestamptzNow())


class AgentLoad(Table, tablename="agent_load"):
    """Each agent's open leads, kept by a trigger on `lead` (every insert, owner, status or merge change), so
    a router reads it in one indexed row and locks it to claim: the lock serialises everyone routing to that
    agent, from any pool, and the locked row is always the latest count (see `routing._CLAIM`)."""

    agent_id = Integer(unique=True)
    open_leads = Integer(default=0)


class RoutingDecision(Table, tablename="routing_decision"):
    """Why a lead went where it went: the rule that matched, who was eligible and why this agent."""

    id = BigSerial(primary_key=True)
    lead = ForeignKey(Lead, index=True)
    trigger = Varchar(length=20)  # intake, sla_breach, manual, import
    rule_set_id = Integer(null=True, default=None)
    rule_set_version = Integer(null=True, default=None)
    matched = Varchar(length=120, default="")
    pool_id = Integer(null=True, default=None)
    agent_id = Integer(null=True, default=None)
    candidates = JSONB(default="[]")
    explanation = Text(default="")
    duration_ms = Real(default=0)
    created_at = Timestamptz(default=TimestamptzNow())


class SlaBreach(Table, tablename="lead_sla_breach"):
    lead = ForeignKey(Lead, index=True)
    agent_id = Integer(null=True, default=None, index=True)
    pool_id = Integer(null=True, default=None)
    case_reference = Varchar(length=20, default="")
    reassigned_to_id = Integer(null=True, default=None)
    created_at = Timestamptz(default=TimestamptzNow(), index=True)


class FiguresDay(Table, tablename="lead_figures_day"):
    """The desk dashboard's daily roll-up (leads/figures.py): per UTC day of intake and entity, one row per
    agent, pool and source and one for the whole entity ("all"), with the speed to lead as a histogram so
    medians over any span of days add up without reading the leads again."""

    day = Date()
    entity_id = Integer()
    dimension = Varchar(length=10)  # agent, pool, source, all
    key = Varchar(length=200, default="")  # the agent's or pool's id, the source; "" for none or for "all"
    leads = Integer(default=0)
    contacted = Integer(default=0)
    registered = Integer(default=0)
    funded = Integer(default=0)
    lost = Integer(default=0)
    speed_hist = Array(base_column=Integer())
    refreshed_at = Timestamptz(default=TimestamptzNow())


class ReferralCode(Table, tablename="referral_code"):
    """An IB's referral code and the relationship manager its leads go to (the IB area will own partners)."""

    code = Varchar(length=40, unique=True)
    entity_id = Integer()
    partner_name = Varchar(length=120)
    manager_id = Integer(null=True, default=None)
    active = Boolean(default=True)


class LeadImport(Table, tablename="lead_import"):
    entity_id = Integer()
    filename = Varchar(length=255)
    file_id = Integer()
    status = Varchar(length=20, default="queued")  # queued, validating, importing, routing, done, failed
    total_rows = Integer(default=0)
    valid_rows = Integer(default=0)
    invalid_rows = Integer(default=0)
    imported = Integer(default=0)
    routed = Integer(default=0)
    errors = JSONB(default="[]")
    job_id = Varchar(length=120, default="")
    created_by_id = Integer(null=True, default=None)
    created_at = Timestamptz(default=TimestamptzNow())
    finished_at = Timestamptz(null=True, default=None)


class DuplicateCandidate(Table, tablename="lead_duplicate"):
    lead = ForeignKey(Lead, index=True)
    other = ForeignKey(Lead, index=True)
    score = Real()
    reasons = JSONB(default="[]")
    status = Varchar(length=20, default="open")  # open, merged, dismissed
    created_at = Timestamptz(default=TimestamptzNow())


class EntityRule(Table, tablename="lead_entity_rule"):
    """Which legal entity takes a lead, by brand and country; the first matching rule (by position) wins."""

    position = Integer(default=100)
    brand = Varchar(length=40, default="")  # "" = any brand
    countries = JSONB(default="[]")  # ISO 3166 alpha-2 codes; [] = any country
    entity_id = Integer()


class RoutingReplay(Table, tablename="lead_routing_replay"):
    """A what-if: the last N days of leads run through a draft (or published) rule set, as a background
    job."""

    entity_id = Integer()
    rule_set_id = Integer(null=True, default=None)
    scoring_set_id = Integer(null=True, default=None)
    days = Integer(default=30)
    status = Varchar(length=20, default="queued")  # queued, running, done, failed
    total = Integer(default=0)
    done = Integer(default=0)
    result = JSONB(default="{}")
    job_id = Varchar(length=120, default="")
    created_by_id = Integer(null=True, default=None)
    created_at = Timestamptz(default=TimestamptzNow())
    finished_at = Timestamptz(null=True, default=None)
    seconds = Real(default=0)


LABELS.add(
    "lead_status",
    {
        LeadStatus.NEW: "New",
        LeadStatus.CONTACTED: "Contacted",
        LeadStatus.INTERESTED: "Interested",
        LeadStatus.REGISTERED: "Registered",
        LeadStatus.KYC: "KYC",
        LeadStatus.FUNDED: "Funded",
        LeadStatus.LOST: "Lost",
    },
    {
        LeadStatus.NEW: "info",
        LeadStatus.CONTACTED: "neutral",
        LeadStatus.INTERESTED: "warn",
        LeadStatus.REGISTERED: "ok",
        LeadStatus.KYC: "ok",
        LeadStatus.FUNDED: "ok",
        LeadStatus.LOST: "danger",
    },
)
LABELS.add(
    "lead_event",
    {
        "intake": "Intake",
        "routing": "Routing",
        "status": "Status",
        "note": "Note",
        "call": "Call",
        "email": "E-mail",
        "task": "Task",
        "merge": "Merge",
        "merged": "Merged",
        "score": "Score",
        "reveal": "Reveal",
        "sla_breach": "SLA breach",
        "registered": "Registered as a client",
    },
)
LABELS.add(
    "rule_set_status",
    {"draft": "Draft", "pending": "Waiting for approval", "published": "Published", "retired": "Retired"},
    {"draft": "neutral", "pending": "warn", "published": "ok", "retired": "neutral"},
)
LABELS.add(
    "presence",
    {"available": "Available", "away": "Away", "offline": "Offline"},
    {"available": "ok", "away": "warn", "offline": "neutral"},
)
