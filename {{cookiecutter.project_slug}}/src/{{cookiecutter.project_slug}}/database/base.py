"""The declarative base of every model, and the one list of them that Alembic reads."""

import importlib
import importlib.util
import pkgutil

from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase

# Constraint names follow one convention so migrations can refer to them.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Declare relationships with lazy="raise" and load them explicitly (selectinload):
    an implicit lazy load is a hidden query, and in async code an error."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def load_all_models() -> MetaData:
    """Import the `models` module of every resource package, so that Base.metadata holds every
    table (Alembic compares it with the database); a new resource needs no list kept by hand."""
    service = importlib.import_module(__name__.rsplit(".", 2)[0])
    for package in pkgutil.iter_modules(service.__path__):
        models = f"{service.__name__}.{package.name}.models"
        if package.ispkg and importlib.util.find_spec(models):
            importlib.import_module(models)
    return Base.metadata
