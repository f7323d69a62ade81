#!/usr/bin/env bash
# Started by every emit of foo-event. A Sooner script unchanged: it reads the event's data
# (JSON) from argv[1], so it opts in to Sooner's `script DATA SOCKET` argv. (Every local
# user can read argv; new scripts read $JOBYARD_DATA or stdin instead.)
# jobyard: on = foo-event
# jobyard: data_in_argv = true
# jobyard: description = listens on foo-event

echo "foo-event happened with data $1"
