/* anomaly.h -- one anomaly event: a reading outside the interval forecast for it.
 *
 * The engine finds them (engine/interval.h) and the publisher sends them on
 * `<anomaly.topic_prefix><series>` in the forecasts' format
 * (wire/anomaly_format.h, docs/protocol.md "Anomaly events"). */
#ifndef TC_ANOMALY_H
#define TC_ANOMALY_H

#include <stdint.h>

struct tc_anomaly {
	uint32_t row;                /* the series' index among its tick's forecasts */
	float value;                 /* the reading (model.intervals.target), series' units */
	float expected;              /* the one-step forecast made for it at the series' last step */
	float lower, upper;          /* the anomaly.level interval around expected */
	float score;                 /* |value - expected| / (half the interval's width): > 1 outside */
};

#endif
