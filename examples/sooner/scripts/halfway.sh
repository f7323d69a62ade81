#!/usr/bin/env bash
# The Sooner.io README's stderr example, unchanged: a `>>> sooner.NAME(ARGS)` line on
# stderr is a call (ARGS are JSON values), not output.
# jobyard: description = reports progress half way, emits foo-event, finishes

echo 'half way'
echo '>>> sooner.progress(50)' 1>&2
echo '>>> sooner.emit("foo-event")' 1>&2
sleep 2

echo 'done!'
