# bash completion for mule(1).
#
# Installed by `make install` as
# $(PREFIX)/share/bash-completion/completions/mule; to try it from the
# source tree:  . completion/mule.bash
#
# Command names, sub-commands and options come from mule itself
# (`mule __complete ...`, read off its --help texts); peer and table names
# from the database that -d DB or $MULE_DB names.

# _mule_ask WHAT [COMMAND]: the words mule offers, one a line.
_mule_ask()
{
	"$_mule_prog" "${_mule_global[@]}" __complete "$@" 2>/dev/null
}

# _mule_offer WORDS: COMPREPLY = the WORDS that start with $cur.
_mule_offer()
{
	local IFS=$'\n'
	COMPREPLY=($(compgen -W "$1" -- "$cur"))
}

_mule_files()
{
	local IFS=$'\n'
	COMPREPLY=($(compgen -f -- "$cur"))
	compopt -o filenames 2>/dev/null
}

# Options whose value is the next word.
_mule_takes_value()
{
	case $1 in
	-d|--db|--key|-o|--output|--iso|--eml|--to|--peer|--volume-size|\
	--parity|-n|--keep|--value|--where|--columns|--exclude|--name|--unset)
		return 0 ;;
	esac
	return 1
}

_mule()
{
	local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]}
	local _mule_prog=${COMP_WORDS[0]} cmd= sub= w i=1
	local -a _mule_global=() pos=()

	COMPREPLY=()
	# Global options, then the command, then its operands.
	while [ "$i" -lt "$COMP_CWORD" ]; do
		w=${COMP_WORDS[i]}
		if [ -z "$cmd" ]; then
			case $w in
			-d|--db|--key)
				_mule_global+=("$w" "${COMP_WORDS[i+1]}")
				i=$((i + 2))
				continue ;;
			-*) ;;
			*) cmd=$w ;;
			esac
		elif _mule_takes_value "$w"; then
			i=$((i + 1))
		elif [ "${w#-}" = "$w" ]; then
			pos+=("$w")
		fi
		i=$((i + 1))
	done

	if [ -z "$cmd" ]; then
		case $prev in
		-d|--db|--key) _mule_files; return ;;
		esac
		case $cur in
		-*) _mule_offer "-d
--key
--help
--version" ;;
		*) _mule_offer "$(_mule_ask commands)" ;;
		esac
		return
	fi

	# The value of an option.
	case $prev in
	--to)
		# A comma-separated list: complete its last name.
		local pre=
		case $cur in *,*) pre=${cur%,*}, ;; esac
		local IFS=$'\n'
		COMPREPLY=($(compgen -P "$pre" -W "$(_mule_ask peers)" \
		    -- "${cur##*,}"))
		return ;;
	--peer) _mule_offer "$(_mule_ask peers)"; return ;;
	--keep) _mule_offer "local
remote"; return ;;
	--volume-size) _mule_offer "1440k
650M
4G"; return ;;
	-o|--output|--iso|--eml|--key|--unset) _mule_files; return ;;
	--parity|-n|--value|--where|--columns|--exclude|--name) return ;;
	esac
	case $cur in
	-*) _mule_offer "$(_mule_ask options "$cmd")"; return ;;
	esac

	# Operands, by command and place.
	sub=${pos[0]}
	case $cmd in
	help)
		[ "${#pos[@]}" -eq 0 ] && _mule_offer "$(_mule_ask commands)" ;;
	peer)
		case ${#pos[@]} in
		0) _mule_offer "$(_mule_ask subcommands peer)" ;;
		1) case $sub in
		   remove|set) _mule_offer "$(_mule_ask peers)" ;;
		   esac ;;
		2) [ "$sub" = set ] && _mule_offer "email
schema" ;;
		3) [ "$sub" = set ] && [ "${pos[2]}" = schema ] &&
		       _mule_offer "accept
review
refuse
separate" ;;
		esac ;;
	schema|conflicts)
		[ "${#pos[@]}" -eq 0 ] &&
		    _mule_offer "$(_mule_ask subcommands "$cmd")"
		[ "$cmd" = schema ] && [ "${#pos[@]}" -ge 1 ] &&
		    case $sub in record|identify) _mule_files ;; esac ;;
	track|untrack)
		_mule_offer "$(_mule_ask tables)" ;;
	share|unshare|map)
		case ${#pos[@]} in
		0) _mule_offer "$(_mule_ask peers)" ;;
		1) [ "$cmd" != map ] && _mule_offer "$(_mule_ask tables)" ;;
		2) [ "$cmd" = map ] && _mule_offer "$(_mule_ask tables)" ;;
		esac ;;
	init|clone|unpack|verify|inspect)
		_mule_files ;;
	esac
}

complete -F _mule mule ./mule
