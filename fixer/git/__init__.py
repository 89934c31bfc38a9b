"""Git and forges: commit fixes on a branch, the pull-request bot, its words, the forge REST clients.

``gitops`` (temporary-index commits, worktrees, leased pushes), ``bot`` (``propose``: one repository, one
pull request), ``prbody`` (commit message, title and body), ``forges`` (GitHub, GitLab, Gitea/Forgejo).
"""
