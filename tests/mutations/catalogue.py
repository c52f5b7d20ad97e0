"""The mutation matrix's catalogue: each failure mode of the session convention, as an edit of
a baked service, and the variants the matrix runs it in by default.

A mutation is data: its name, the failure mode it stands for, the file it edits (by its role in
the service, as the convention guard names roles), and the edit, a list of regular-expression
replacements that must each match. The harness (harness.py) applies one to a copy of a baked
service and runs the service's behavioural suite: its own suite without its static guard
(GUARD), so only tests that exercise the running service count; FIRST are run first.
"""

from .model import AWAIT, SESSION_BLOCK, Mutation, has_server, is_postgres

MUTATIONS = [
    Mutation(
        "no-rollback-no-close",
        "the session dependency neither rolls back nor closes: a failed transaction stays "
        "open on its connection",
        "database/session.py",
        ((SESSION_BLOCK, "    yield session_factory()\n"),),
    ),
    Mutation(
        "rollback-without-close",
        "the session dependency rolls back on error but never closes its session",
        "database/session.py",
        (
            (
                SESSION_BLOCK,
                "    session = session_factory()\n"
                "    try:\n"
                "        yield session\n"
                "    except Exception as error:\n"
                "        \\g<rollback>session.rollback()\n"
                "        report_rollback(session.info, error)\n"
                "        raise\n",
            ),
        ),
    ),
    Mutation(
        "close-without-rollback",
        "the session dependency closes its session but does not roll back on error",
        "database/session.py",
        ((SESSION_BLOCK, "\\g<open>        yield session\n"),),
        unobservable_because="close() rolls back the same transaction at the same moment; "
        "only the rollback's log line and metric can tell, and only where a test reads them: "
        "left to the guard (test_convention_static.py)",
    ),
    Mutation(
        "shared-session",
        "the incident: one session shared by every request, never rolled back or closed",
        "database/session.py",
        (
            (
                SESSION_BLOCK,
                "    shared = getattr(request.app.state, 'shared_session', None)\n"
                "    if shared is None:\n"
                "        shared = request.app.state.shared_session = session_factory()\n"
                "    yield shared\n",
            ),
        ),
    ),
    Mutation(
        "commit-after-response",
        "the commit moved from the unit of work into the session dependency, which runs after "
        "the response is sent",
        "*/services.py",
        {
            "flush-commit": ((rf"\n *{AWAIT}session\.commit\(\)\n", "\n"),),
            "begin-context": ((r"(?m)^( *)(?:async )?with session\.begin\(\):$", r"\1if True:"),),
        },
        other_role="database/session.py",
        other_edits=(
            (
                r"( +)yield session\n",
                r"\1yield session\n\1\g<await>session.commit()\n",
            ),
        ),
    ),
    Mutation(
        "commit-in-repository",
        "the data-access layer commits: a unit of work of several steps is no longer atomic",
        "*/repository.py",
        # After each change of an item's quantity: the first step of a transfer (or an
        # order's first line) is kept even when the next step fails.
        (
            (
                rf"(?P<call>( +)({AWAIT})session\.execute\(\n +update\(Item\)\n"
                r" +\.where\(Item\.id == item_id\)\n(?: +.*\n)*? +\)\n)",
                r"\g<call>\2\3session.commit()\n",
            ),
        ),
    ),
    Mutation(
        "capacity-removed",
        "no slot limit: requests wait inside the pool (and time out) instead of queueing",
        "database/session.py",
        ((r" *_slot: Annotated\[None, Depends\(database_slot\)\],\n", ""),),
    ),
    Mutation(
        "pool-settings-ignored",
        "the engine ignores the pool settings and runs on the library's defaults",
        "database/session.py",
        (
            (r" *pool_size=settings\.pool_size,\n", ""),
            (r" *max_overflow=settings\.max_overflow,\n", ""),
            (r" *pool_timeout=settings\.pool_timeout,\n", ""),
        ),
    ),
    Mutation(
        "dead-connections-kept",
        "connections the server closed are handed to requests",
        "database/dialect.py",
        ((r"( +)replace_dead_connections\(.*\)\n", r"\1pass\n"),),
        applies=has_server,
        # Only the connections killed by the server show it: without this, the rest of the
        # suite ran first, two minutes per variant.
        caught_by=("tests/test_lost_connections.py",),
    ),
    Mutation(
        "database-error-500",
        "every database error is answered 500",
        "errors.py",
        (
            (
                r"error_response\(\*FAILURE_ANSWERS\[failure\.kind\]\)",
                "error_response(500, INTERNAL_DETAIL)",
            ),
        ),
    ),
    Mutation(
        "exception-swallowed",
        "a unit of work swallows the error of its data access and reports success",
        "*/services.py",
        {
            "flush-commit": (
                (
                    rf"( +)({AWAIT})repository\.update_item\(session, item, changes\)\n",
                    r"\1try:\n\1    \2repository.update_item(session, item, changes)\n"
                    r"\1except Exception:\n\1    pass\n",
                ),
            ),
            "begin-context": (
                (
                    rf"( +)return ({AWAIT})repository\.update_item\(session, item, changes\)\n",
                    r"\1try:\n\1    return \2repository.update_item(session, item, changes)\n"
                    r"\1except Exception:\n\1    return item\n",
                ),
            ),
        },
    ),
    # The negative controls of the scale-out and observability features (issues 13 and 14).
    Mutation(
        "pooler-setting-ignored",
        "DATABASE_POOLER=pgbouncer no longer makes the driver pooler-safe: named prepared "
        "statements break behind PgBouncer in transaction mode",
        "database/dialect.py",
        ((r"dict\(POOLER_CONNECT_ARGS\)", "{}"),),
        applies=is_postgres,
        caught_by=("tests/test_pgbouncer.py",),
    ),
    Mutation(
        "migration-lock-off",
        "migrations run without the database lock: replicas starting together race",
        "/migrations/env.py",
        ((r"migration_lock\(connection, timeout\) if locked else ", ""),),
        caught_by=("tests/test_migration_lock.py",),
    ),
    Mutation(
        "timeouts-not-applied",
        "the statement and lock timeouts the database enforces are never set: a slow statement "
        "or a held lock keeps its connection and its slot",
        "database/dialect.py",
        ((r"( +)apply_timeouts\(engine, settings\)\n", r"\1pass\n"),),
        applies=has_server,
        caught_by=("tests/test_statement_timeout.py",),
    ),
    # The negative control of the deadlock answer (issue 12).
    Mutation(
        "deadlock-generic-body",
        "a deadlock's victim is answered with the generic 503 body, which does not say that "
        "the transaction was rolled back and nothing was changed",
        "errors.py",
        (
            (
                r"(Failure\.DEADLOCK: \(status\.HTTP_503_SERVICE_UNAVAILABLE, )DEADLOCK_DETAIL\)",
                r"\1UNAVAILABLE_DETAIL)",
            ),
        ),
        applies=has_server,
        caught_by=("tests/test_deadlock.py",),
    ),
    # The negative controls of access control (issue 22). The token's checks are the same code
    # in every variant (auth/ is neither rewritten for sync nor written per database or style),
    # so they run in one variant of the covering set; the owner filter is data access, in all.
    Mutation(
        "token-signature-unchecked",
        "tokens are decoded without checking their signature: anyone can mint one",
        "auth/tokens.py",
        (
            (
                r'options=\{"require": REQUIRED_CLAIMS\}',
                'options={"require": REQUIRED_CLAIMS, "verify_signature": False}',
            ),
        ),
        applies=is_postgres,
        caught_by=("tests/test_auth_tokens.py",),
    ),
    Mutation(
        "audience-unchecked",
        "a token meant for another service is accepted: its audience is not checked",
        "auth/tokens.py",
        (
            (
                r'options=\{"require": REQUIRED_CLAIMS\}',
                'options={"require": REQUIRED_CLAIMS, "verify_aud": False}',
            ),
        ),
        applies=is_postgres,
        caught_by=("tests/test_auth_tokens.py",),
    ),
    Mutation(
        "owner-filter-dropped",
        "an order is read by id alone: any principal sees and cancels another's order",
        "orders/repository.py",
        (
            (
                r"\.where\(Order\.id == order_id, Order\.owner == owner\)",
                ".where(Order.id == order_id)",
            ),
        ),
        caught_by=("tests/test_auth_access.py",),
    ),
    Mutation(
        "key-refresh-blocks-everyone",
        "every request waits for a due key-set fetch: a hanging identity provider stalls the "
        "whole service for its timeout, once per refresh interval",
        "auth/keys.py",
        ((r" or self\.lock\.locked\(\)", ""),),
        applies=is_postgres,
        caught_by=("tests/test_auth_tokens.py",),
    ),
    Mutation(
        "verified-token-outlives-its-key",
        "a remembered token stays accepted after the key set was fetched without its key: a key "
        "the provider removed keeps working for as long as the verified-token cache holds it",
        "auth/tokens.py",
        ((r" and generation == self\.keys\.generation", ""),),
        applies=is_postgres,
        caught_by=("tests/test_auth_tokens.py",),
    ),
    Mutation(
        "overlong-subject-accepted",
        "a token's sub of any length is accepted: a caller longer than the tables that record "
        "callers hold fails later, in a write, or is stored cut where the database does not check",
        "auth/tokens.py",
        ((r"    if len\(sub\) > SUB_MAX_LENGTH:\n", "    if False:\n"),),
        applies=is_postgres,
        caught_by=("tests/test_auth_tokens.py",),
    ),
    Mutation(
        "key-set-over-plain-http",
        "the JWKS URL may be plain http:// to any host: whoever stands on the way can hand the "
        "service keys of their own and sign tokens it accepts",
        "auth/settings.py",
        ((r" and on_this_machine\(host\)", ""),),
        applies=is_postgres,
        caught_by=("tests/test_auth_setup.py",),
    ),
    Mutation(
        "idempotency-key-ignored",
        "the Idempotency-Key is never looked up: a retry after a lost response repeats the effect",
        "idempotency/claims.py",
        ((r"    if key is None:\n        return Claim\(schema\)\n", "    return Claim(schema)\n"),),
        caught_by=("tests/test_idempotency.py",),
    ),
    Mutation(
        "idempotency-key-outside-the-transaction",
        "the key is committed on its own before the effect: when the effect then fails, the key "
        "is kept without a response and every retry is refused",
        "idempotency/claims.py",
        (
            (
                rf"( +)((?:async )?)with session\.begin_nested\(\):\n"
                rf" +return Claim\(schema, ({AWAIT})repository\.insert_key\(session, key\)\)\n"
                r"(?P<rest>    except IntegrityError:)",
                r"\1\2with type(session)(session.bind) as own, own.begin():\n"
                r"\1    \3repository.insert_key(own, key)\n"
                r"\1return Claim(schema)\n"
                r"\g<rest>",
            ),
        ),
        caught_by=("tests/test_idempotency.py",),
    ),
    Mutation(
        "version-check-off",
        "no version check: If-Match is ignored and a concurrent edit silently overwrites another",
        "*/services.py",
        ((r"condition\.check\(", "(lambda *_: None)("),),
        other_role="*/models.py",
        other_edits=((r'__mapper_args__ = \{"version_id_col": version\}', "__mapper_args__ = {}"),),
        caught_by=("tests/test_conditional_writes.py",),
    ),
    Mutation(
        "event-published-after-commit",
        "the order's event is written after the order's commit, in a transaction of its own (as "
        "a publish after the commit would be): a failure in between keeps the order and loses "
        "its event",
        "orders/services.py",
        {
            "flush-commit": (
                (
                    r" +# Stored by this unit of work's commit, or dropped with the order by its "
                    r"rollback\.\n +outbox\.record\(session, events\.PLACED, "
                    r"events\.payload\(order\)\)\n(?P<rest>(?: .*\n)*?)"
                    rf"    (?P<commit>{AWAIT}session\.commit\(\))\n",
                    r"\g<rest>    \g<commit>\n    if claimed.replay is None:\n"
                    r"        outbox.record(session, events.PLACED, events.payload(order))\n"
                    r"        \g<commit>\n",
                ),
            ),
            "begin-context": (
                (
                    r"    (?P<a>(?:async )?)with session\.begin\(\):\n(?P<head>(?:        .*\n)+?)"
                    r" +# Stored by this unit of work's commit, or dropped with the order by its "
                    r"rollback\.\n +outbox\.record\(session, events\.PLACED, "
                    r"events\.payload\(order\)\)\n"
                    r"(?P<tail> +claimed\.remember\(OrderRead\.model_validate\(order\)\)\n)"
                    r"    return claimed\.outcome\n",
                    r"    \g<a>with session.begin():\n\g<head>\g<tail>"
                    r"    if claimed.replay is None:\n        \g<a>with session.begin():\n"
                    r"            outbox.record(session, events.PLACED, events.payload(order))\n"
                    r"    return claimed.outcome\n",
                ),
            ),
        },
        applies=has_server,
        caught_by=("tests/test_events.py",),
    ),
    Mutation(
        "outbox-marked-sent-before-the-confirm",
        "the relay commits its rows as sent before it publishes them: a relay that dies or a "
        "broker that goes away before the confirm loses the batch",
        "outbox/services.py",
        {
            "flush-commit": (
                (
                    rf" +(?P<publish>{AWAIT}publisher\.publish\(messages\))\n"
                    r"(?P<mark>(?: +.*\n){2})"
                    rf"    (?P<commit>{AWAIT}session\.commit\(\))\n",
                    r"\g<mark>    \g<commit>\n    if messages:\n        \g<publish>\n",
                ),
            ),
            "begin-context": (
                (
                    rf" +(?P<publish>{AWAIT}publisher\.publish\(messages\))\n"
                    r"(?P<mark>(?: +.*\n){2})"
                    r"        return len\(messages\)\n",
                    r"\g<mark>    if messages:\n        \g<publish>\n    return len(messages)\n",
                ),
            ),
        },
        applies=has_server,
        caught_by=("tests/test_events.py",),
    ),
    Mutation(
        "inbox-check-removed",
        "the worker keeps no inbox: a redelivered event (at-least-once delivery) has its effect "
        "twice",
        "inbox/services.py",
        (
            (
                rf"handled = not {AWAIT}repository\.is_handled\(session, consumer=consumer, "
                r"event_id=event\.id\)",
                "handled = True",
            ),
            (
                rf"\n +{AWAIT}repository\.add_entry\(session, consumer=consumer, "
                r"event_id=event\.id\)",
                "",
            ),
        ),
        applies=has_server,
        caught_by=("tests/test_events.py",),
    ),
    # The negative controls of traces (issue 25): the same code in every variant, so they run
    # in one; a failed statement's message, where the driver quotes the value in it (psycopg,
    # the MySQL drivers; not asyncpg or SQLite).
    Mutation(
        "statement-spans-dependency-check-on",
        "the SQLAlchemy instrumentation keeps its dependency check, which refuses SQLAlchemy "
        "2.1: no statement is traced",
        "database/tracing.py",
        ((r", skip_dep_check=True", ""),),
        applies=is_postgres,
        caught_by=("tests/test_traces.py",),
    ),
    Mutation(
        "spans-lost-at-shutdown",
        "the tracer provider is not shut down with the app: the spans queued at the drain are lost",
        "main.py",
        ((r"\n +tracer_provider\.shutdown\(\)", ""),),
        applies=is_postgres,
        caught_by=("tests/test_workers.py",),
    ),
    Mutation(
        "driver-message-in-span",
        "a failed statement's span keeps the driver's message, which quotes the client's values",
        "database/tracing.py",
        ((r'event\.listen\(engine, "handle_error", end_failed_statement\)', "pass"),),
        applies=lambda variant: variant.id == "mysql-sync-begin-context",
        caught_by=("tests/test_traces.py",),
    ),
]
