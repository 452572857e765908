#!/bin/sh
# install_r_data.sh -- installs the Debian packages whose R time series tools/series_data.py
# exports (R itself comes with them); not needed by the build or the tests. Run as root.
set -eu
missing=""
for pkg in forecast AER tseries; do
	if ! Rscript --vanilla -e "quit(status = !requireNamespace('$pkg', quietly = TRUE))" >/dev/null 2>&1; then
		missing="$missing r-cran-$(echo "$pkg" | tr 'A-Z' 'a-z')"
	fi
done
if [ -z "$missing" ]; then
	echo "install_r_data.sh: forecast, AER and tseries are installed"
	exit 0
fi
echo "install_r_data.sh: installing$missing"
apt-get install -y $missing
