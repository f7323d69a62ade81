#!/usr/bin/env bash
# Started by every emit of foo-event (the event's data is argv[1], JSON).
# jobyard: on = foo-event
# jobyard: description = listens on foo-event

echo "foo-event happened with data $1"
