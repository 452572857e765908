/* bench_compare_report.c -- bench_compare's tables: speed, and agreement with tickcast. */
#include "bench_compare.h"

#include <math.h>
#include <stdio.h>

/* "| median | min–max | % |" for implementation i, or dashes when it did not run. */
static void print_cells(const struct row *r, int i, int runs, double peak)
{
	if (r->median[i] <= 0) {
		printf(" — | — | — |");
		return;
	}
	printf(" %.1f | %.1f–%.1f | %.0f%% |", r->median[i], r->gflops[i][0],
		r->gflops[i][runs - 1], 100.0 * r->median[i] / peak);
}

static void print_ratio(const struct row *r, int i)
{
	if (r->median[i] > 0 && r->median[IMPL_TICKCAST] > 0) {
		printf(" %.2f× |", r->median[IMPL_TICKCAST] / r->median[i]);
	} else {
		printf(" — |");
	}
}

void bench_compare_print_table(const struct row *rows, size_t n_rows, int runs,
	const struct bench_peak *start, const struct bench_peak *end)
{
	printf("| B | H | threads | tickcast GFLOP/s | min–max | %% of peak | oneDNN GFLOP/s "
	       "| min–max | %% of peak | PyTorch GFLOP/s | min–max | %% of peak "
	       "| tickcast/oneDNN | tickcast/PyTorch |\n"
	       "|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|\n");
	for (size_t k = 0; k < n_rows; k++) {
		const struct row *r = &rows[k];
		int ti = r->thread_index;
		double peak = fmax(start->gflops[ti], end->gflops[ti]);
		printf("| %zu | %d | %d |", r->batch, r->hidden, bench_thread_counts[ti]);
		for (int i = 0; i < N_IMPL; i++) {
			print_cells(r, i, runs, peak);
		}
		print_ratio(r, IMPL_DNNL);
		print_ratio(r, IMPL_TORCH);
		printf("\n");
	}
}

static void print_diff(const struct row *r, int i)
{
	if (r->median[i] > 0) {
		printf(" %.1e | %.1e |", r->diff_out[i], r->diff_hidden[i]);
	} else {
		printf(" — | — |");
	}
}

int bench_compare_print_agreement(const struct row *rows, size_t n_rows)
{
	int bad = 0;
	printf("| B | H | threads | outputs, oneDNN | hidden, oneDNN | outputs, PyTorch "
	       "| hidden, PyTorch |\n|--:|--:|--:|--:|--:|--:|--:|\n");
	for (size_t k = 0; k < n_rows; k++) {
		const struct row *r = &rows[k];
		printf("| %zu | %d | %d |", r->batch, r->hidden, bench_thread_counts[r->thread_index]);
		int row_bad = 0;
		for (int i = IMPL_DNNL; i < N_IMPL; i++) {
			print_diff(r, i);
			row_bad |= r->median[i] > 0 && !(r->diff_out[i] < AGREE_TOLERANCE
				&& r->diff_hidden[i] < AGREE_TOLERANCE);
		}
		printf("%s\n", row_bad ? " DISAGREE" : "");
		bad += row_bad;
	}
	return bad;
}
