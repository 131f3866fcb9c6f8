from piccolo.columns import Boolean, ForeignKey, Integer, Text, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from planner.accounts.tables import User
from planner.programs.tables import Program
from planner.scheduling.tables import Space

MOVEMENT_KINDS = ("receive", "transfer", "assemble", "hand_out", "return", "adjust")


class Location(Table, tablename="location"):
    program = ForeignKey(references=Program, null=False, index=True)
    name = Varchar(length=200)
    space = ForeignKey(references=Space, null=True, default=None, help_text="Set for a space's own shelf.")


class Item(Table, tablename="item"):
    program = ForeignKey(references=Program, null=False, index=True)
    name = Varchar(length=200)
    sku = Varchar(length=64, default="")
    unit = Varchar(length=30, default="piece")
    low_stock_at = Integer(default=0)
    is_kit = Boolean(default=False, help_text="A kit: a bill of materials, assembled from items.")
    created_at = Timestamptz(default=TimestamptzNow())


class KitComponent(Table, tablename="kit_component"):
    kit = ForeignKey(references=Item, null=False, index=True)
    item = ForeignKey(references=Item, null=False)
    quantity = Integer(default=1)


class StockLevel(Table, tablename="stock_level"):
    program = ForeignKey(references=Program, null=False, index=True)
    item = ForeignKey(references=Item, null=False)
    location = ForeignKey(references=Location, null=False)
    on_hand = Integer(default=0, help_text="Sum of the ledger; never below zero.")


class StockMovement(Table, tablename="stock_movement"):
    program = ForeignKey(references=Program, null=False, index=True)
    item = ForeignKey(references=Item, null=False, index=True)
    location = ForeignKey(references=Location, null=False)
    quantity = Integer(help_text="Signed change of on-hand stock.")
    kind = Varchar(length=12)
    reason = Text(default="")
    ref = Varchar(length=100, default="", help_text="What caused it: a check-in, a transfer, a delivery.")
    user = ForeignKey(references=User, null=True, default=None)
    created_at = Timestamptz(default=TimestamptzNow())
