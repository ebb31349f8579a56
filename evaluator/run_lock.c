/* Run ownership (run_internal.h): one job at a time works on a run, in one
 * process or across several. A job holds an open-file-description lock on
 * byte ID of DATA/runs.lock while it works on run ID. The kernel drops the
 * lock when the job closes its descriptor or its process dies, so a killed
 * run can be resumed at once and no stale lock outlives its owner; OFD
 * locks (unlike POSIX record locks) also conflict between two jobs of the
 * same server process. */
#include "evaluator/run_internal.h"
#include "evaluator/runs.h"
#include "common/error.h"
#include "common/fs.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* A write lock on byte 'id' of the file: run id's. */
static void run_byte(struct flock *fl, int64_t id)
{
    memset(fl, 0, sizeof(*fl));
    fl->l_type = F_WRLCK;
    fl->l_whence = SEEK_SET;
    fl->l_start = (off_t)id;
    fl->l_len = 1;
}

int eval_run_lock(int *fd_out, const char *data_dir, int64_t id)
{
    struct flock fl;
    char *path = as_path_join(data_dir, "runs.lock");
    int fd;

    *fd_out = -1;
    if (path == NULL)
        return as_error_set(AS_ENOMEM, "out of memory");
    fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) {
        int err = errno;
        as_error_set(AS_ERROR, "%s: %s", path, strerror(err));
        free(path);
        return AS_ERROR;
    }
    free(path);
    run_byte(&fl, id);
    if (fcntl(fd, F_OFD_SETLK, &fl) < 0) {
        int err = errno;
        close(fd);
        if (err == EAGAIN || err == EACCES)
            return as_error_set(AS_ECONFLICT, "run %lld is in progress in another job (an 'assay "
                                "eval', gate or server); wait for it or stop it",
                                (long long)id);
        return as_error_set(AS_ERROR, "locking run %lld: %s", (long long)id, strerror(err));
    }
    *fd_out = fd;
    return 0;
}

int eval_run_in_progress(const char *data_dir, int64_t id)
{
    struct flock fl;
    char *path = as_path_join(data_dir, "runs.lock");
    int fd, busy;

    if (path == NULL)
        return 0;
    fd = open(path, O_RDONLY | O_CLOEXEC);
    free(path);
    if (fd < 0)
        return 0;       /* no job has ever held a run here */
    run_byte(&fl, id);
    busy = fcntl(fd, F_OFD_GETLK, &fl) == 0 && fl.l_type != F_UNLCK;
    close(fd);
    return busy;
}
