"""One process at a time syncs an account (sisra.client.lock): refused while another holds
it, free again once it stops — even when it was killed."""

import os
import signal
import subprocess
import sys

import pytest

from sisra.client.accounts import AccountError
from sisra.client.lock import hold_sync
from sisra.devtools.inbox import offline_account

LOCAL = "Mot-de-passe-local-1"


def test_a_second_holder_is_refused_until_the_first_releases(account_store):
    account = offline_account(account_store, LOCAL)
    first = hold_sync(account)
    with pytest.raises(AccountError) as exc:
        hold_sync(account)  # the same process, another window: refused as well
    assert exc.value.code == "account_in_use"
    assert "MonSisra reçoit déjà les documents de Dr Test" in exc.value.message
    other = offline_account(account_store, LOCAL, login="dr.autre")
    with hold_sync(other):  # another user of the computer is not concerned
        pass
    first.release()
    first.release()  # twice is harmless
    with hold_sync(account) as again:
        assert again.held
    assert not again.held


def test_a_killed_holder_leaves_the_account_free(account_store):
    account = offline_account(account_store, LOCAL)
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time\n"
            "from sisra.client.accounts import AccountStore\n"
            "from sisra.client.lock import hold_sync\n"
            "lock = hold_sync(AccountStore().get(sys.argv[1]))\n"
            "print('held', flush=True)\n"
            "time.sleep(120)\n",
            account.id,
        ],
        env={**os.environ, "MONSISRA_HOME": str(account_store.root)},
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        with pytest.raises(AccountError):
            hold_sync(account)
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait(10)
    with hold_sync(account) as lock:  # the system released it with the process
        assert lock.held


def test_the_command_line_sync_refuses_an_account_monsisra_is_syncing(account_store):
    account = offline_account(account_store, LOCAL)
    env = {**os.environ, "MONSISRA_HOME": str(account_store.root)}

    def sync() -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "sisra.cli", "client", "sync", "--account", "dr.test"],
            env=env,
            input=LOCAL + "\n",
            capture_output=True,
            text=True,
            timeout=60,
        )

    with hold_sync(account):  # as the desktop's session does
        done = sync()
    assert done.returncode != 0
    assert "MonSisra reçoit déjà les documents de Dr Test" in done.stdout + done.stderr
    done = sync()  # free again: it gets as far as the (unreachable) platform
    assert "reçoit déjà" not in done.stdout + done.stderr
    assert "ne répond pas" in done.stdout + done.stderr, done.stdout + done.stderr


def test_a_closing_hold_of_this_process_is_waited_for(account_store):
    """MonSisra's « Déconnexion » lets go at once and releases when its sync thread ends:
    logging in again waits for that release; nobody else's hold is waited for."""
    import threading

    from sisra.client.lock import wait_released

    account = offline_account(account_store, LOCAL)
    assert wait_released(account, timeout=0)  # nothing closing: no wait
    first = hold_sync(account)
    assert wait_released(account, timeout=0)  # held, not closing: hold_sync refuses it
    first.closing()
    assert not wait_released(account, timeout=0.05)
    timer = threading.Timer(0.3, first.release)
    timer.start()
    try:
        assert wait_released(account, timeout=10)
        with hold_sync(account) as again:
            assert again.held
    finally:
        timer.cancel()
    first.closing()  # after its release: nothing to wait for
    assert wait_released(account, timeout=0)
