/*
 * test_cpu.c - the CPU count matches get_nprocs_conf(), and the current
 * CPU read through rseq agrees with sched_getcpu().
 */
#include "check.h"
#include "cpu.h"

#include <sys/sysinfo.h>

int main(void)
{
    CHECK(cpu_count_configured() == (unsigned)get_nprocs_conf());
    int agreed = 0;
    for (int i = 0; i < 1000; i++) {
        unsigned ours = cpu_current();
        int kernel = sched_getcpu();
        CHECK(ours < cpu_count_configured());
        agreed += (int)ours == kernel;
    }
    /* A migration between the two reads may differ, rarely. */
    CHECK(agreed > 900);
    CHECK_DONE();
}
