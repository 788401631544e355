"""tools/install.sh: pip calls that download are retried, the retries without pip's cache."""
import re
import subprocess
from pathlib import Path

import pytest

INSTALL = Path(__file__).resolve().parents[2] / 'tools' / 'install.sh'


def _pip_retry_source():
    match = re.search(r'^pip_retry\(\) \{\n.*?^\}\n', INSTALL.read_text(), re.S | re.M)
    assert match, 'pip_retry() not found in tools/install.sh'
    return match.group(0)


def _run(tmp_path, failures, attempts=3):
    """Run pip_retry with a stand-in pip that fails ``failures`` times, then succeeds."""
    log = tmp_path / 'calls'
    fake = tmp_path / 'fake_pip'
    fake.write_text(f'#!/usr/bin/env bash\n'
                    f'echo "$*" >> {log}\n'
                    f'[ "$(wc -l < {log})" -gt {failures} ]\n')
    fake.chmod(0o755)
    script = (f'set -euo pipefail\nPIP=({fake} --disable-pip-version-check)\n'
              f'{_pip_retry_source()}\n'
              f'pip_retry install -q "opencv-python<4.12"\necho finished\n')
    result = subprocess.run(['bash', '-c', script], capture_output=True, text=True,
                            env={'PATH': '/usr/bin:/bin', 'PIP_RETRY_WAIT': '0',
                                 'PIP_ATTEMPTS': str(attempts)})
    calls = log.read_text().splitlines() if log.exists() else []
    return result, calls


def test_succeeds_first_time_with_cache(tmp_path):
    result, calls = _run(tmp_path, failures=0)
    assert result.returncode == 0 and 'finished' in result.stdout
    assert calls == ['--disable-pip-version-check install -q opencv-python<4.12']


def test_retries_without_cache_after_a_failure(tmp_path):
    result, calls = _run(tmp_path, failures=2)
    assert result.returncode == 0 and 'finished' in result.stdout
    assert calls == ['--disable-pip-version-check install -q opencv-python<4.12'] + [
        '--disable-pip-version-check --no-cache-dir install -q opencv-python<4.12'] * 2
    assert 'attempt 1 of 3' in result.stderr and 'attempt 2 of 3' in result.stderr


@pytest.mark.parametrize('attempts', [1, 3])
def test_gives_up_after_the_last_attempt(tmp_path, attempts):
    result, calls = _run(tmp_path, failures=5, attempts=attempts)
    assert result.returncode != 0 and 'finished' not in result.stdout
    assert len(calls) == attempts
