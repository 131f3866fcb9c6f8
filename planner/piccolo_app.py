from piccolo.conf.apps import AppConfig

from planner.accounts.tables import AccountLink, ApiToken, User, UserSession
from planner.audit.tables import AuditEvent
from planner.care.tables import CareMessage, CareSetting
from planner.inventory.tables import Item, KitComponent, Location, StockLevel, StockMovement
from planner.outbox.tables import OutboxMessage
from planner.paths import asset_dir
from planner.programs.tables import Membership, Program
from planner.reports.tables import FeedbackMarker, FeedbackSetting, FeedbackTally
from planner.resources.tables import ResourceReview, SupportResource
from planner.rsvps.tables import Invitation, Question, ReminderSent, Rsvp
from planner.scheduling.tables import Activity, ActivityHost, Host, HostUnavailability, Slot, Space
from planner.throttle.tables import ThrottleHit
from planner.tickets.tables import Checkin, PresenceScan, ScanConflict

TABLES = [
    User, ApiToken, UserSession, AccountLink, ThrottleHit,
    Program, Membership, Space, Host, HostUnavailability, Activity, ActivityHost, Slot,
    Invitation, Rsvp, Question, ReminderSent,
    Checkin, ScanConflict, PresenceScan,
    Location, Item, KitComponent, StockLevel, StockMovement,
    SupportResource, OutboxMessage,
    AuditEvent,
    ResourceReview, CareSetting, CareMessage,
    FeedbackSetting, FeedbackTally, FeedbackMarker,
]

APP_CONFIG = AppConfig(
    app_name="planner",
    migrations_folder_path=str(asset_dir("piccolo_migrations")),
    table_classes=TABLES,
    migration_dependencies=[],
    commands=[],
)
