#!/bin/sh
echo "remote_coverage_tools: coverage tools are unavailable offline (stand-in from third_party/)" >&2
exit 1
