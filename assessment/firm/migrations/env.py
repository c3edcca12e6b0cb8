"""Alembic's environment: the engine comes from `db.alembic_config`, the target from `tables`."""
from alembic import context

from assessment.firm.tables import Base

config = context.config
engine = config.attributes.get("engine")
if engine is None:                       # the `alembic` command line: the app's own database
    from assessment.firm import db
    engine = db.engine(migrate=False)

with engine.connect() as connection:
    context.configure(connection=connection, target_metadata=Base.metadata,
                      render_as_batch=connection.dialect.name == "sqlite", compare_type=True)
    with context.begin_transaction():
        context.run_migrations()
    if connection.in_transaction():
        connection.commit()
