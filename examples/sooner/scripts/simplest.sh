#!/usr/bin/env bash
# "Perhaps the simplest possible script" from the Sooner.io README.

echo 'done!'
